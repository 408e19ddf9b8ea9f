"""One APIRouter per resource: search, documents, indexes, health."""
