"""Residents' own data: what we keep and why (我的信息存了什么), and erasing it (删除我的信息)."""
