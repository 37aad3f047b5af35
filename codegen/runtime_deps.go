package codegen

// The generated module builds the runtime with gwc's own go.mod and go.sum
// (module.go), so its dependencies (the Prometheus client, klauspost/compress)
// must be in the module cache wherever gwc runs. Importing the runtime here
// makes `go install` of gwc fetch them, and keeps gwc's go.mod listing them
// as direct requirements.
import _ "github.com/gwc-dev/gwc/runtime"
