"""Operations: the deployment files (deploy/) and their checker."""
