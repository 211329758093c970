<?php
/**
 * Adds synthetic people to an installed test site: run as `php add-people.php <site dir>`
 * with a JSON list of people (plan_people()'s shape) on standard input; prints JSON
 * {email: user id} for the registered ones. Each test that erases takes people of its own
 * this way. Test-only.
 */

/** A test site sends no e-mail (pluggable: defined before WordPress would define it). */
function wp_mail() {
	return true;
}

$people = json_decode( stream_get_contents( STDIN ), true );
require $argv[1] . '/wp-load.php';
require_once __DIR__ . '/people.php';

$post_id = (int) get_option( 'personvern_test_post' );
$out     = array();
foreach ( $people as $person ) {
	$made = personvern_test_add_person( $person, $post_id );
	if ( is_string( $made ) ) {
		fwrite( STDERR, "add-people.php: $made\n" );
		exit( 1 );
	}
	if ( $made ) {
		$out[ $person['email'] ] = $made;
	}
}
echo wp_json_encode( (object) $out );
