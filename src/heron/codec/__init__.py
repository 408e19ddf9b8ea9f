"""On-disk formats: how a segment's postings, norms, ids, columns and stored documents are laid out."""
