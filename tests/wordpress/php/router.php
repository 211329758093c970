<?php
/**
 * Router for PHP's built-in web server (php -S), standing in for Apache's rewrite rules:
 * existing files are served as they are, PHP files are run, and every other path (the
 * pretty /wp-json/... permalinks) goes to WordPress's index.php. Test-only.
 */
$root = $_SERVER['DOCUMENT_ROOT'];
$path = '/' . ltrim( (string) parse_url( urldecode( $_SERVER['REQUEST_URI'] ), PHP_URL_PATH ), '/' );
if ( is_dir( $root . $path ) ) {
	$path = rtrim( $path, '/' ) . '/index.php';
}
if ( is_file( $root . $path ) ) {
	if ( '.php' !== substr( $path, -4 ) ) {
		return false;
	}
	chdir( dirname( $root . $path ) );
	require $root . $path;
	return;
}
chdir( $root );
require $root . '/index.php';
