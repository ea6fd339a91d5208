"""The sample-day generator: scenarios as data, a small engine that writes them as CloudTrail trail files."""
