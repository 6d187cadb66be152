package main

import "sync"

var syncPool sync.Pool
