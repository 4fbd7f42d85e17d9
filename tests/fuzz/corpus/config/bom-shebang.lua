#!/usr/sbin/sluiced -c
settings { hostname = "h" }
