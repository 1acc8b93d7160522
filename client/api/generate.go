// Package api is generated from openapi.yaml by oapi-codegen: the request
// and response types of every endpoint and a low-level client. Most programs
// use package client, which wraps it with authentication, retries and typed
// errors; they import api only to name its types.
package api

// The generator lives in its own module (tools/) so that it never becomes a
// dependency of programs importing bugflow.
//go:generate go tool -modfile=../../tools/go.mod oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml
