"""Server-rendered pages for browsing Plex: thin views over PlexService, Django templates,
one stylesheet and one script under static/ (CSP-ready: nothing inline)."""
