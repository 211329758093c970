<?php
/**
 * Plugin Name: personvern test club
 * Description: Test-only: a third-party plugin's personal-data exporter and eraser, to prove the personvern bridge runs every plugin's, not only core's. Never install it on a real site.
 *
 * Club members are users with user meta: assemble_club_number (erased), one
 * assemble_club_visit row per visit (erased; exported one visit per page, so the bridge's
 * paging is exercised) and assemble_club_purchase rows (retained, with a message, as a
 * bookkeeping hold would keep them). Purchases are user meta, which deleting the account
 * removes, so the plugin saves them on delete_user (the option assemble_club_archive, by user
 * id), as a plugin keeping data on accounts must for Users → Delete too. For the address
 * broken@example.org the exporter fails with a WP_Error and the eraser answers without
 * items_removed, as a faulty plugin would.
 */

defined( 'ABSPATH' ) || exit;

add_filter(
	'wp_privacy_personal_data_exporters',
	static function ( $exporters ) {
		$exporters['assemble-club'] = array(
			'exporter_friendly_name' => 'Assemble kundeklubb',
			'callback'               => 'personvern_test_club_export',
		);
		return $exporters;
	}
);

add_filter(
	'wp_privacy_personal_data_erasers',
	static function ( $erasers ) {
		$erasers['assemble-club'] = array(
			'eraser_friendly_name' => 'Assemble kundeklubb',
			'callback'             => 'personvern_test_club_erase',
		);
		return $erasers;
	}
);

/**
 * Page 1: the membership; page N > 1: visit N - 1.
 */
function personvern_test_club_export( $email, $page = 1 ) {
	if ( 'broken@example.org' === $email ) {
		return new WP_Error( 'club_down', 'Kundeklubbens database svarer ikke' );
	}
	$user = get_user_by( 'email', $email );
	$number = $user ? get_user_meta( $user->ID, 'assemble_club_number', true ) : '';
	if ( ! $number ) {
		return array( 'data' => array(), 'done' => true );
	}
	$visits = get_user_meta( $user->ID, 'assemble_club_visit' );
	$page   = (int) $page;
	$data   = array();
	if ( 1 === $page ) {
		$data[] = array(
			'group_id'    => 'assemble-club',
			'group_label' => 'Kundeklubb',
			'item_id'     => "member-$number",
			'data'        => array(
				array( 'name' => 'Medlemsnummer', 'value' => $number ),
				array( 'name' => 'Kjøp', 'value' => implode( ', ', get_user_meta( $user->ID, 'assemble_club_purchase' ) ) ),
			),
		);
	} elseif ( isset( $visits[ $page - 2 ] ) ) {
		$data[] = array(
			'group_id'    => 'assemble-club-visits',
			'group_label' => 'Besøk i butikken',
			'item_id'     => "visit-$number-" . ( $page - 1 ),
			'data'        => array( array( 'name' => 'Dato', 'value' => $visits[ $page - 2 ] ) ),
		);
	}
	return array( 'data' => $data, 'done' => $page - 1 >= count( $visits ) );
}

/**
 * Removes the membership number and visits; keeps the purchases (bookkeeping).
 */
function personvern_test_club_erase( $email, $page = 1 ) {
	if ( 'broken@example.org' === $email ) {
		return array( 'messages' => array(), 'done' => true );
	}
	$user     = get_user_by( 'email', $email );
	$removed  = 0;
	$messages = array();
	if ( $user && get_user_meta( $user->ID, 'assemble_club_number', true ) ) {
		$removed += count( get_user_meta( $user->ID, 'assemble_club_visit' ) ) + 1;
		delete_user_meta( $user->ID, 'assemble_club_number' );
		delete_user_meta( $user->ID, 'assemble_club_visit' );
	}
	$retained = $user && get_user_meta( $user->ID, 'assemble_club_purchase' );
	if ( $retained ) {
		$messages[] = 'Kundeklubbens kjøp beholdes i fem år etter bokføringsloven § 13.';
	}
	return array(
		'items_removed'  => $removed,
		'items_retained' => $retained,
		'messages'       => $messages,
		'done'           => true,
	);
}

add_action(
	'delete_user',
	static function ( $user_id ) {
		$purchases = get_user_meta( $user_id, 'assemble_club_purchase' );
		if ( $purchases ) {
			$archive             = get_option( 'assemble_club_archive', array() );
			$archive[ $user_id ] = $purchases;
			update_option( 'assemble_club_archive', $archive, false );
		}
	}
);
