"""Turn a news source into documents: fetch, discover links, extract and clean article text.

The public surface is ``extract`` (HTML → Article), ``clean_text`` (text → text) and
``Article``; everything else is reached through its module.
"""

from scrapers.clean import clean_text
from scrapers.extract import extract
from scrapers.model import Article

__all__ = ["Article", "clean_text", "extract"]
