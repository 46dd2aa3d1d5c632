"""The web app: server-rendered pages for officers, departments, courts and anyone verifying,
on the same services, access policy and tokens as the API (see docs/web.md)."""
