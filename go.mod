module github.com/gwc-dev/gwc

go 1.26.0

require (
	cuelang.org/go v0.17.1 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
