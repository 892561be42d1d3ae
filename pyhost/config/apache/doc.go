// Package apache converts mod_wsgi's Apache directives to a pyhost config file (`pyhost
// import-apache`): WSGIDaemonProcess becomes a [group.NAME] table, WSGIScriptAlias a
// [[mount]] with the WSGIProcessGroup, WSGIApplicationGroup and WSGICallableObject that
// apply to it, Alias a [[static]] table, Listen the listeners.
//
// Directives pyhost has no counterpart for are reported with their line, never dropped
// silently. The package reads the Apache file and writes TOML text; checking that text is
// pyhost/config's LoadFile, as for any config file.
package apache
