"""The code as data: read the source (text, Markdown or PDF), parse it into provisions, join the curated layer."""
