"""End-to-end tests in headless Chromium (Playwright): the console as people use it. See
conftest.py for the fixtures and console.py for the helpers."""
