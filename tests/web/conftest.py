"""Web tests run on SQLite by default and on PostgreSQL when DATABASE_URL names one
(`make test` runs them a second time that way when PINGJI_TEST_PG_URL is set)."""
