// Package server is bugflow's reference HTTP server: the five documented API
// families on one httprouter, with request ids, access logs, panic recovery,
// body limits, rate limits and Prometheus metrics.
package server

import (
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow"
)

// Option configures New.
type Option func(*Server)

// WithLogger sets the logger for access logs and errors. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// Server is the reference server's handler.
type Server struct {
	engine *bugflow.Engine
	logger *slog.Logger
	router *httprouter.Router
}

// New returns the reference server's handler for engine.
func New(engine *bugflow.Engine, opts ...Option) http.Handler {
	s := &Server{engine: engine, logger: slog.Default(), router: httprouter.New()}
	for _, o := range opts {
		o(s)
	}
	return s.router
}
