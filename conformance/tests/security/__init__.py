"""Security tests: fuzzing against the OpenAPI document, tenant isolation, crash safety, ..."""
