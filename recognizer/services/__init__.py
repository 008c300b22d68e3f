"""Writes, one module per aggregate. Import the module you need.

Views, API views, admin actions, commands and Celery tasks change data only
through these functions, so the web pages and the API share one path.
"""
