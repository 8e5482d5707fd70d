"""The web layer: routes parse, call a service, render. No domain logic here."""
