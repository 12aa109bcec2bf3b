"""Numbers in Chinese business documents are grouped by thousands with commas (1,234,567.89);
Django's zh_Hans defaults have no separator. Only `intcomma` and `floatformat:"g"` group:
USE_THOUSAND_SEPARATOR stays off, so ids and form values are never grouped."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
