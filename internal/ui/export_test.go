package ui

// Linkify is linkify, for the external tests.
var Linkify = linkify
