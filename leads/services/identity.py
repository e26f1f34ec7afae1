"""Identity resolution and event processing. IMPLEMENTED BY THE PROCESSING WORK."""


def events_process_batch(*, batch_id: str) -> int:
    """Resolve and mark processed every unprocessed event of an ingestion batch. Idempotent."""
    raise NotImplementedError
