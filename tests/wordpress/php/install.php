<?php
/**
 * Installs a test WordPress site and fills it with synthetic people: run as
 * `php install.php <site dir>` with the plan as JSON on standard input (see
 * wordpress_support.py); prints JSON with the application passwords and user ids.
 *
 * wp_install() is what wp-admin/install.php calls; no wp-cli is needed. Test-only.
 */

define( 'WP_INSTALLING', true );

/** A test site sends no e-mail (pluggable: defined before WordPress would define it). */
function wp_mail() {
	return true;
}

$plan = json_decode( stream_get_contents( STDIN ), true );
require $argv[1] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
require_once __DIR__ . '/people.php';

function personvern_fail( $what ) {
	fwrite( STDERR, "install.php: $what\n" );
	exit( 1 );
}

$admin = $plan['admin'];
$installed = wp_install( $plan['title'], $admin['login'], $admin['email'], false, '', wp_slash( $admin['password'] ) );
if ( is_wp_error( $installed ) ) {
	personvern_fail( $installed->get_error_message() );
}

// Pretty permalinks, so the REST API answers under /wp-json/ as on a real shop; the rules
// are built again on the first request.
update_option( 'permalink_structure', '/%postname%/' );
delete_option( 'rewrite_rules' );

foreach ( $plan['plugins'] as $plugin ) {
	$activated = activate_plugin( $plugin );
	if ( is_wp_error( $activated ) ) {
		personvern_fail( "$plugin: " . $activated->get_error_message() );
	}
}

function personvern_app_password( $user_id ) {
	$created = WP_Application_Passwords::create_new_application_password( $user_id, array( 'name' => 'personvern' ) );
	if ( is_wp_error( $created ) ) {
		personvern_fail( $created->get_error_message() );
	}
	return $created[0];
}

$out = array(
	'admin_id'          => (int) $installed['user_id'],
	'admin_password'    => personvern_app_password( (int) $installed['user_id'] ),
	'users'             => array(),
);

$editor = $plan['editor'];
$editor_id = wp_insert_user(
	array(
		'user_login' => $editor['login'],
		'user_email' => $editor['email'],
		'user_pass'  => $editor['password'],
		'role'       => 'editor',
	)
);
if ( is_wp_error( $editor_id ) ) {
	personvern_fail( $editor_id->get_error_message() );
}
$out['editor_id']       = (int) $editor_id;
$out['editor_password'] = personvern_app_password( $editor_id );

$post_id = wp_insert_post(
	array(
		'post_title'   => 'Nyheter fra verkstedet',
		'post_content' => 'Vi har fått inn nye stoler.',
		'post_status'  => 'publish',
		'post_author'  => (int) $installed['user_id'],
	)
);

update_option( 'personvern_test_post', $post_id );

foreach ( $plan['people'] as $person ) {
	$made = personvern_test_add_person( $person, $post_id );
	if ( is_string( $made ) ) {
		personvern_fail( $made );
	}
	if ( $made ) {
		$out['users'][ $person['email'] ] = $made;
	}
}

echo wp_json_encode( $out );
