package supervisor

// StopMargin is what a worker gets on top of --shutdown-timeout, after SIGTERM, to finalise
// Python and exit before the supervisor kills it: a stop takes at most --shutdown-timeout +
// StopMargin. Deployments size their grace periods from it (deploy/kubernetes's test checks
// terminationGracePeriodSeconds against it).
const StopMargin = stopMargin
