<?php
/**
 * Makes one synthetic person (see plan_people() in wordpress_support.py): a user with
 * profile, club user meta and posts, or a guest; and their comments on the test post.
 * Shared by install.php and add-people.php. Test-only.
 */

/**
 * Adds $person; returns the user id (0 for a guest) or a message saying what failed.
 */
function personvern_test_add_person( $person, $post_id ) {
	$user_id = 0;
	if ( $person['registered'] ) {
		$user_id = wp_insert_user(
			array(
				'user_login'  => $person['login'],
				'user_email'  => $person['email'],
				'user_pass'   => wp_generate_password(),
				'first_name'  => $person['first_name'],
				'last_name'   => $person['last_name'],
				'nickname'    => $person['first_name'],
				'description' => $person['description'],
				'user_url'    => $person['url'],
				'role'        => $person['role'] ?? 'subscriber',
			)
		);
		if ( is_wp_error( $user_id ) ) {
			return $user_id->get_error_message();
		}
		if ( $person['club'] ) {
			add_user_meta( $user_id, 'assemble_club_number', $person['club']['number'] );
			foreach ( $person['club']['visits'] as $visit ) {
				add_user_meta( $user_id, 'assemble_club_visit', $visit );
			}
			foreach ( $person['club']['purchases'] as $purchase ) {
				add_user_meta( $user_id, 'assemble_club_purchase', $purchase );
			}
		}
		foreach ( $person['posts'] ?? array() as $title ) {
			$made = wp_insert_post(
				array(
					'post_title'   => $title,
					'post_content' => 'Skrevet av en kunde.',
					'post_status'  => 'publish',
					'post_author'  => $user_id,
				),
				true
			);
			if ( is_wp_error( $made ) ) {
				return $made->get_error_message();
			}
		}
	}
	foreach ( $person['comments'] as $comment ) {
		$comment_id = wp_insert_comment(
			array(
				'comment_post_ID'      => $post_id,
				'comment_author'       => $person['first_name'] . ' ' . $person['last_name'],
				'comment_author_email' => $person['email'],
				'comment_author_url'   => $person['url'],
				'comment_author_IP'    => $comment['ip'],
				'comment_agent'        => $comment['agent'],
				'comment_content'      => $comment['content'],
				'comment_approved'     => $comment['approved'] ? 1 : 0,
				'user_id'              => $user_id,
			)
		);
		if ( ! $comment_id ) {
			return 'a comment was not saved';
		}
	}
	return (int) $user_id;
}
