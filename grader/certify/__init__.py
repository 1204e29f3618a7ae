"""Certificates: signing keys, signed certificates and their verification."""
