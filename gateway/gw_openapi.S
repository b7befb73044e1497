/* gw_openapi.S - gateway/openapi.json built into the program, so that
 * /api/v1/openapi.json serves exactly the committed document whatever the
 * working directory. Assembled from the repository root (see module.mk). */
	.section .rodata
	.global gw_openapi_start
	.global gw_openapi_end
	.type gw_openapi_start, @object
gw_openapi_start:
	.incbin "gateway/openapi.json"
gw_openapi_end:
	.byte 0
	.section .note.GNU-stack,"",@progbits
