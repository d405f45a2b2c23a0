"""The 政务诚信 monitor: warning levels for government bodies and their rectification cases."""
