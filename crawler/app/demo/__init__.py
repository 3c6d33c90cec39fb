"""The bundled sample web and its study file."""
