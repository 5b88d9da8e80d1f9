"""Record catalogue, providers and the feed ingestion that fills the records store."""
