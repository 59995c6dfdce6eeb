"""Read side: load the newest committed index, retrieve, cite and answer; the CLI lives here."""
