"""The app's pages, one module a page: queue (the rep's queue), lead (the lead workspace),
board (the manager's board)."""
