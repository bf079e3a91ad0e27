"""Probe kinds, one module each; ``registry.KINDS`` maps a config's kind name to its ``Kind``."""
