"""Plain logic over typed models; the API routers and the Lambda handlers call into these."""
