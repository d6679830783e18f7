"""Credit approval service: customers, credit scoring, loan booking and book ingestion."""
