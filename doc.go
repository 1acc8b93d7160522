// Package bugflow is an embeddable engine for the whole bug lifecycle: bug
// intake with deduplication, ML triage, CI failure analysis, workflows, tasks
// and tickets, behind one identity model.
//
// Open an Engine with a Config whose zero value just works: an SQLite file
// bugflow.db in the working directory, mail printed to the log, background
// jobs run in-process. Point DatabaseURL at PostgreSQL to share one database
// between several processes; they then share the job queue too.
//
//	engine, err := bugflow.Open(ctx, bugflow.Config{DatabaseURL: "postgres://localhost/bugflow"})
//	if err != nil { ... }
//	defer engine.Close()
//	http.ListenAndServe(":8080", server.New(engine))
//
// The domain packages (auth, bugs, mlpipeline, analysis, workflow, tickets,
// personal) hold the services; package server is the reference HTTP server
// and package client its generated Go client. Errors are classified by
// package errs.
package bugflow
