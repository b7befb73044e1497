# deploy/: what `make run` keeps between runs.
#
#   make clean-data   stop the local PostgreSQL and Redis of `make run` if
#                     they run, and delete their data (.data/, or
#                     NAMEGEN_DATA_DIR)
.PHONY: clean-data
clean-data:
	@scripts/run-local --clean-data
