"""Report writers: console table, JUnit XML, JSON and HTML, all from one RunResult."""
