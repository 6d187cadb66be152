package imagebuild

// ProxyEscape exposes proxyEscape to the external tests.
var ProxyEscape = proxyEscape
