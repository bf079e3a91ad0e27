"""Shared test support: free ports, waiting for servers, and real services started as processes."""
