"""The workbench shell: sign-in, sign-out, home page, health, and the authenticated OpenAPI document."""
