package server

import (
	"net/http"

	"github.com/bugflow/bugflow/auth"
)

// registerRoutes declares every route: grouped by path prefix, each group
// speaking one family's dialect, each route with who may call it. Adding a
// route is adding a line here; its access is then covered by
// TestEveryRouteEnforcesItsAccess.
func (s *Server) registerRoutes() {
	ip := func(l *RateLimiter) routeOption { return withRateLimit(l, clientIP) }

	// The API root (seeds/004's, also seeds/000's availability check) and
	// the operational endpoints.
	s.group("", DRF, get("/", anyone, s.apiRoot))
	s.group("", FastAPI, get("/health", anyone, s.health))
	s.group("", Plain,
		get("/openapi.yaml", anyone, serveOpenAPI),
		get("/openapi.json", anyone, serveOpenAPIJSON),
		get("/docs", anyone, serveSwaggerUI),
		get("/redoc", anyone, serveReDoc),
		get("/docs/assets/:file", anyone, serveDocsAsset),
		get("/metrics", anyone, serveHandler(s.metrics.handler())),
	)

	// seeds/000: email-code sign-in, then training triage models from
	// uploaded CSVs and predicting with them. A triage job is visible only
	// to its owner (and admins). The upload limit is enforced while
	// streaming (413), so the route's own body limit is set just above it.
	s.group("", Plain,
		post("/verify_email_and_generate_otp", anyone, s.requestOTP, ip(s.limits.otpRequest)),
		post("/signin", anyone, s.signIn, ip(s.limits.signIn)),
		post("/verify_session", anyone, s.verifySession),
		post("/demo_train", signedIn, s.demoTrain, withMaxBody(s.engine.ML.MaxUploadBytes()+1<<20)),
		post("/demo_status_training", signedIn, s.demoStatusTraining),
		post("/demo_predict", signedIn, s.demoPredict),
		post("/demo_status_prediction", signedIn, s.demoStatusPrediction),
	)

	// seeds/003's password accounts.
	s.group("", FastAPI,
		post("/register", anyone, s.register, ip(s.limits.register)),
		post("/login", anyone, s.login, ip(s.limits.signIn)),
		get("/me", signedIn, s.me),
	)

	// seeds/003's personal tasks: each user sees and changes only their
	// own (another user's task is 404, so ids cannot be probed).
	s.group("/api/v1/tasks", FastAPI,
		get("", signedIn, s.listPersonalTasks),
		post("", signedIn, s.createPersonalTask),
		put("/:task_id", signedIn, s.updatePersonalTask),
		del("/:task_id", signedIn, s.deletePersonalTask),
	)

	// seeds/003's task chat: it works on the caller's own tasks.
	s.group("/api/v1", FastAPI, post("/chat", signedIn, s.chat))

	// seeds/003's automated processes: admins see and run every one; a
	// user sees the built-ins and their own, and runs their own (403 for a
	// built-in, 404 for another user's).
	s.group("/api/v1/processes", FastAPI,
		get("", signedIn, s.listProcesses),
		post("/:process_id/execute", signedIn, s.executeProcess),
		get("/:process_id/executions", signedIn, s.listExecutions),
	)

	// seeds/001's admin login, personal tracker tokens and admin user
	// management. The reference system parses these bodies by hand, so bad
	// input is 400 (not FastAPI's 422).
	plain := withPlainInvalid()
	s.group("/api/auth", FastAPI,
		post("/login", anyone, s.adminLogin, plain, ip(s.limits.signIn)),
		post("/logout", anyone, s.adminLogout, plain),
		get("/me", anyone, s.authMe, plain),
	)
	s.group("/api/user", FastAPI,
		get("/tokens", anyone, s.getUserTokens, plain),
		put("/tokens", anyone, s.putUserTokens, plain),
	)
	s.group("/api/admin/users", FastAPI,
		post("", adminOnly, s.createAdminUser, plain),
		get("", adminOnly, s.listUsers, plain),
		del("/:username", adminOnly, s.deleteUser, plain),
		put("/:username/role", adminOnly, s.setUserRole, plain),
		post("/:username/rotate-key", adminOnly, s.rotateUserKey, plain),
	)
	// Operators' view of the durable job queue.
	s.group("/api/admin/jobs", FastAPI, get("", adminOnly, s.listJobs, plain))

	// seeds/004's roles: bugflow's own, created by admins and held by
	// users; admins say who holds them (steps are assigned by role).
	s.group("/roles", DRF,
		get("/", signedIn, s.listRoles),
		post("/", adminOnly, s.createRole),
		get("/:id/", signedIn, s.getRole),
		get("/:id/users/", adminOnly, s.listRoleMembers),
		post("/:id/users/", adminOnly, s.addRoleMember),
		del("/:id/users/:user_id/", adminOnly, s.removeRoleMember),
	)

	// seeds/004's workflow definitions, with their steps and transitions:
	// any signed-in user reads them; admins create, change, initialize and
	// delete them.
	s.group("/workflows", DRF,
		get("/", signedIn, s.listWorkflows),
		post("/", adminOnly, s.createWorkflow),
		get("/:id/", signedIn, s.getWorkflow),
		del("/:id/", adminOnly, s.deleteWorkflow),
		put("/:id/update-details/", adminOnly, s.updateWorkflowDetails),
		put("/:id/update-graph/", adminOnly, s.updateWorkflowGraph),
		get("/:id/graph/", signedIn, s.workflowGraph),
		get("/:id/detail/", signedIn, s.workflowDetail),
		post("/:id/initialize/", adminOnly, s.initializeWorkflow),
	)
	s.group("/steps", DRF,
		get("/", signedIn, s.listSteps),
		post("/", adminOnly, s.createStep),
		get("/:id/", signedIn, s.getStep),
		put("/:id/", adminOnly, s.updateStep),
		del("/:id/", adminOnly, s.deleteStep),
	)
	s.group("/transitions", DRF,
		get("/", signedIn, s.listTransitions),
		post("/", adminOnly, s.createTransition),
		get("/:id/", signedIn, s.getTransition),
		del("/:id/", adminOnly, s.deleteTransition),
		post("/:id/transition/", signedIn, s.transitionTask),
	)

	// seeds/004's tasks. The engine checks object-level access: one task
	// is for admins, its ticket's owner and the people assigned to it.
	// The views and actions beside /tasks/:id/ are served by it
	// (dispatchedBy), each with its own access.
	s.group("/tasks", DRF,
		get("/", signedIn, s.listTasks),
		post("/", adminOnly, s.createTask),
		get("/:id/", signedIn, s.getTask),
		put("/:id/", signedIn, s.updateTask),
		del("/:id/", adminOnly, s.deleteTask),
		get("/my-tasks/", signedIn, s.myTasks).dispatchedBy("/:id/"),
		get("/all-tasks/", adminOnly, s.allTasks).dispatchedBy("/:id/"),
		get("/owned-tickets/", anyRole(auth.TicketCoordinator), s.ownedTickets).dispatchedBy("/:id/"),
		post("/transfer/", adminOnly, s.transferTask).dispatchedBy("/:id/"),
		post("/escalate/", signedIn, s.escalateTask).dispatchedBy("/:id/"),
		get("/:id/visualization/", signedIn, s.taskVisualization),
		get("/:id/action-logs/", signedIn, s.taskActionLogs),
		// POST /tasks/failed-notifications/:id/retry/ has a parameter
		// where update-user-status stands: both are served by parameter
		// routes of the same shape.
		post("/:id/update-user-status/", signedIn, s.updateUserStatus).dispatchedBy("/:id/:action/"),
		get("/failed-notifications/", adminOnly, s.failedNotifications).dispatchedBy("/:id/"),
		post("/failed-notifications/:id/retry/", adminOnly, s.retryNotification).dispatchedBy("/:id/:action/retry/"),
	)

	// seeds/004's tickets: any signed-in user submits them (/send/ for
	// other systems) and reads and changes those package tickets lets them
	// (their own, those they own; all for coordinators and admins); admins
	// delete them.
	s.group("/tickets", DRF,
		get("/", signedIn, s.listTickets),
		post("/", signedIn, s.submitTicket),
		get("/:id/", signedIn, s.getTicket),
		put("/:id/", signedIn, s.updateTicket),
		del("/:id/", adminOnly, s.deleteTicket),
	)
	s.group("", DRF, post("/send/", signedIn, s.submitTicket))

	// seeds/004's analytics: aggregates for any signed-in user (see
	// analytics.go), the index listing them all.
	a := s.engine.Analytics
	s.group("/analytics", DRF,
		get("/", signedIn, s.analyticsIndex),
		get("/ticket-trends/", signedIn, analyticsSeries(a.TicketTrends)),
		get("/task-item-trends/", signedIn, analyticsSeries(a.TaskItemTrends)),
		get("/ticket-categories/", signedIn, analyticsFigure(a.TicketCategories)),
		get("/tickets/dashboard/", signedIn, s.analyticsDashboard),
		get("/tickets/status/", signedIn, analyticsFigure(a.TicketStatus)),
		get("/tickets/priority/", signedIn, analyticsFigure(a.TicketPriority)),
		get("/tickets/age/", signedIn, analyticsFigure(a.TicketAge)),
		get("/tickets/sla/", signedIn, analyticsFigure(a.TicketSLA)),
		get("/workflows/metrics/", signedIn, analyticsFigure(a.WorkflowMetrics)),
		get("/workflows/departments/", signedIn, analyticsFigure(a.Departments)),
		get("/workflows/steps/", signedIn, analyticsFigure(a.Steps)),
		get("/tasks/status/", signedIn, analyticsFigure(a.TaskStatus)),
		get("/tasks/origin/", signedIn, analyticsFigure(a.TaskOrigin)),
		get("/tasks/performance/", signedIn, analyticsFigure(a.TaskPerformance)),
		get("/tasks/users/", signedIn, analyticsFigure(a.TaskUsers)),
		get("/tasks/transfers/", signedIn, analyticsFigure(a.TaskTransfers)),
	)

	// seeds/004's operational insights and forecasts, for admins; the
	// drill-downs list records, each caller seeing only their own unless
	// an admin (analytics_insights.go).
	s.group("/analytics", DRF,
		get("/operational/", adminOnly, analyticsFigure(s.engine.Analytics.Operational)),
		get("/workload/", adminOnly, analyticsFigure(s.engine.Analytics.Workload)),
		get("/sla-risk/", adminOnly, analyticsFigure(s.engine.Analytics.SLARisk)),
		get("/anomalies/", adminOnly, analyticsFigure(s.engine.Analytics.Anomalies)),
		get("/service-health/", adminOnly, analyticsFigure(s.engine.Analytics.ServiceHealth)),
		get("/forecast/volume/", adminOnly, analyticsForecast(s.engine.Analytics.ForecastVolume)),
		get("/forecast/resolution/", adminOnly, analyticsForecast(s.engine.Analytics.ForecastResolution)),
		get("/forecast/category/", adminOnly, analyticsFigure(s.engine.Analytics.ForecastCategory)),
		get("/forecast/sla-risk/", adminOnly, analyticsForecast(s.engine.Analytics.ForecastSLARisk)),
		get("/forecast/workload/", adminOnly, analyticsForecast(s.engine.Analytics.ForecastWorkload)),
		get("/forecast/comprehensive/", adminOnly, analyticsForecast(s.engine.Analytics.ForecastComprehensive)),
		get("/drilldown/tickets/status/", signedIn, s.drilldownTickets(byTicketStatus)),
		get("/drilldown/tickets/priority/", signedIn, s.drilldownTickets(byNothing)),
		get("/drilldown/tickets/age/", signedIn, s.drilldownTickets(byAgeBracket)),
		get("/drilldown/tickets/sla/", signedIn, s.drilldownTickets(bySLAOutcome)),
		get("/drilldown/tasks/status/", signedIn, s.drilldownTasks),
		get("/drilldown/tasks/origin/", signedIn, s.drilldownAssignments(byOrigin)),
		get("/drilldown/user/:id/", signedIn, s.drilldownAssignments(byPathUser)),
		get("/drilldown/workflow/:id/", signedIn, s.drilldownWorkflow),
		get("/drilldown/transfers/", signedIn, s.drilldownAssignments(byTransferred)),
	)

	// seeds/004's audit trail, for admins. by-target sits where an event
	// id would (dispatchedBy).
	s.group("/audit/events", DRF,
		get("/", adminOnly, s.listAuditEvents),
		get("/:id/", adminOnly, s.getAuditEvent),
		get("/by-target/", adminOnly, s.auditEventsByTarget).dispatchedBy("/:id/"),
	)

	// seeds/002: every call is a POST with a JSON body; all but auto are for
	// admins (the reference system only hid them in its UI).
	size := withMaxBody(bugReportsMaxBody)
	s.group("/api/bug-reports", Envelope,
		post("/list", adminOnly, s.listBugReports),
		post("/get", adminOnly, s.getBugReport),
		post("/create", adminOnly, s.createBugReport, size),
		post("/auto", signedIn, s.autoBugReport, size),
		post("/update", adminOnly, s.updateBugReport, size),
		post("/delete", adminOnly, s.deleteBugReport),
	)

	// seeds/001's analyses, results, reviews and history. Reads and
	// analyses are open, as the document says; deleting a result is for
	// admins; the username of comments and reviews is the signed-in user's
	// or the guest's of the jji_username cookie.
	body := withMaxBody(analysisMaxBody)
	s.group("", FastAPI,
		post("/analyze-failures", anyone, s.analyzeFailures, withMaxBody(analyzeMaxBody), ip(s.limits.analyze)),
		post("/analyze", anyone, s.analyze, body),
		post("/re-analyze/:job_id", anyone, s.reanalyze, body),
		get("/api/dashboard", anyone, s.dashboard),
		get("/api/capabilities", anyone, s.capabilities),
		get("/ai-configs", anyone, s.aiConfigs),
	)
	s.group("/results", FastAPI,
		get("", anyone, s.listResults),
		get("/:job_id", anyone, s.getResult),
		del("/:job_id", adminOnly, s.deleteResult),
		get("/:job_id/comments", anyone, s.listComments),
		post("/:job_id/comments", anyone, s.addComment, body),
		del("/:job_id/comments/:comment_id", anyone, s.deleteComment),
		put("/:job_id/reviewed", anyone, s.setReviewed, body),
		get("/:job_id/review-status", anyone, s.reviewStatus),
		put("/:job_id/override-classification", anyone, s.overrideClassification, body),
		post("/:job_id/preview-github-issue", anyone, s.previewGitHubIssue, body),
		post("/:job_id/preview-jira-bug", anyone, s.previewJiraBug, body),
		post("/:job_id/create-github-issue", anyone, s.createGitHubIssue, body),
		post("/:job_id/create-jira-bug", anyone, s.createJiraBug, body),
		post("/:job_id/push-reportportal", anyone, s.pushReportPortal, body, ip(s.limits.trackers)),
		post("/:job_id/enrich-comments", anyone, s.enrichComments, body, ip(s.limits.trackers)),
	)
	// seeds/001's tracker helpers. They call out to the configured GitHub
	// and Jira with whatever token they are given, so they share a rate
	// limit per client address. (Previews and creation need a stored
	// failure and are limited by the trackers' own rate limits.)
	s.group("/api", FastAPI,
		post("/jira-projects", anyone, s.jiraProjects, body, ip(s.limits.trackers)),
		post("/jira-security-levels", anyone, s.jiraSecurityLevels, body, ip(s.limits.trackers)),
		post("/validate-token", anyone, s.validateToken, body, ip(s.limits.trackers)),
	)
	s.group("/history", FastAPI,
		get("/failures", anyone, s.historyFailures),
		get("/test/*test_name", anyone, s.historyTest),
		get("/search", anyone, s.historySearch),
		get("/stats/*job_name", anyone, s.historyStats),
		post("/classify", anyone, s.historyClassify, body),
		get("/classifications", anyone, s.historyClassifications),
	)
}

// serveHandler adapts an http.Handler that answers every request itself
// (the metrics exposition) to a route handler.
func serveHandler(h http.Handler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}
