package compiler

import (
	"fmt"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// errorc and warnc report a finding with its stable code (see
// compiler/diag/codes.go). They are the only way to report: every
// diagnostic gwc prints carries a code, so there is no helper without one.
func (c *compilation) errorc(code string, r resource, path, hint, format string, args ...any) {
	c.reportc(code, diag.Error, r, path, hint, format, args...)
}

func (c *compilation) warnc(code string, r resource, path, hint, format string, args ...any) {
	c.reportc(code, diag.Warning, r, path, hint, format, args...)
}

func (c *compilation) reportc(code string, sev diag.Severity, r resource, path, hint, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if code == diag.CodeUnsupported {
		msg = diag.UnsupportedPrefix + msg
	}
	c.diags = append(c.diags, diag.Diagnostic{
		Pos:      r.PosOf(path),
		Severity: sev,
		Code:     code,
		Resource: r.ID(),
		Field:    path,
		Message:  msg,
		Hint:     hint,
	})
}

// resource is what a report needs of a loaded resource.
type resource interface {
	PosOf(path string) diag.Pos
	ID() string
}

// unsupportedCode is the code of a finding of unsupported.go: an error
// rejects a field not implemented yet, a warning or note one ignored.
func unsupportedCode(sev diag.Severity) string {
	if sev == diag.Error {
		return diag.CodeUnsupported
	}
	return diag.CodeIgnored
}

// Short names of the codes used at report sites.
const (
	codeNotFound     = diag.CodeNotFound
	codeHostNotInGw  = diag.CodeHostNotInGateway
	codeMeshOnly     = diag.CodeMeshOnly
	codePortRequired = diag.CodePortRequired
	codeValidation   = diag.CodeValidation
	codeWildcardDest = diag.CodeWildcardDest
	codeUnsupported  = diag.CodeUnsupported
	codeNoEndpoints  = diag.CodeNoEndpoints
	codePortProtocol = diag.CodePortProtocol
	codeNotApplied   = diag.CodeNotApplied
	codeInternal     = diag.CodeInternal

	codeValidationWarn   = diag.CodeValidationWarning
	codeUnreachable      = diag.CodeUnreachableRule
	codeConflictingGw    = diag.CodeConflictingGateway
	codeSubsetNoPods     = diag.CodeSubsetNoPods
	codeNoCredentials    = diag.CodeNoCredentials
	codeIgnored          = diag.CodeIgnored
	codeAnnotation       = diag.CodeAnnotation
	codeMergedDR         = diag.CodeMergedDestinationRules
	codeUnusedDR         = diag.CodeUnusedDestinationRule
	codeMergedServers    = diag.CodeMergedServers
	codePluginSpec       = diag.CodePluginSpec
	codePluginUnverified = diag.CodePluginUnverified
	codePluginUnmatched  = diag.CodePluginUnmatched
	codeCredentialForm   = diag.CodeCredentialForm
)
