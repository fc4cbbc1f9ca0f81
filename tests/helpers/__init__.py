"""What tests share: real databases and labs started for a test, clusters built with the real
tools, process checks, CLI runners. Imported as `helpers.<module>` (tests/ is on sys.path,
tests/conftest.py); never a test itself."""
