"""Extractors: classes that find streams in the sources a user configures."""

from slipstream.extractors.base import Extractor, ExtractorContext

__all__ = ["Extractor", "ExtractorContext"]
