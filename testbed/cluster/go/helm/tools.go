//go:build tools

// The Helm command is this module's only dependency.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
