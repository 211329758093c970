<?php
/**
 * The account step of an erasure: deletes the user account of an address after the erasers
 * have run, because WordPress core has no eraser for accounts (Tools → Erase Personal Data
 * leaves the user name, the e-mail address and the password hash in wp_users).
 *
 * It uses core's wp_delete_user() (wp-admin/includes/user.php), as Users → Delete does, with
 * the posts and links of the account given to another user ("Attribute all content to"),
 * never deleted: content is the site's, and deleting it silently would be a surprise no
 * admin asked for. The heir is the user named in the parameter reassign, or else the user
 * personvern signs in with. wp_delete_user() fires delete_user, so a plugin that must keep
 * data stored on the account (user meta) can save it there, as it must for Users → Delete.
 *
 * Some accounts are never deleted; the answer says why, in kept, and the account stays:
 * an administrator's (or a super admin's), the account personvern signs in with, and any
 * account on a multisite (where wp_delete_user() would only take it off this site).
 *
 * Idempotent: an address without an account answers found: false and changes nothing.
 *
 * @package personvern-bridge
 */

defined( 'ABSPATH' ) || exit;

/**
 * Serves POST /personvern/v1/delete-account.
 */
final class Personvern_Bridge_Account {

	/**
	 * POST /delete-account: email, reassign (optional user name) → found, deleted,
	 * posts_reassigned, reassigned_to, kept.
	 *
	 * @param WP_REST_Request $request The call.
	 * @return WP_REST_Response|WP_Error
	 */
	public function delete_account( $request ) {
		$email = trim( (string) $request->get_param( 'email' ) );
		if ( '' === $email || ! is_email( $email ) ) {
			return new WP_Error(
				'personvern_invalid_email',
				sprintf( 'The parameter email must be an e-mail address; %s is not one.', '' === $email ? 'an empty value' : "'$email'" ),
				array( 'status' => 400 )
			);
		}
		$user = get_user_by( 'email', $email );
		if ( ! $user ) {
			return $this->answer( false, false );
		}
		$kept = $this->why_kept( $user );
		if ( null !== $kept ) {
			return $this->answer( true, false, 0, null, $kept );
		}
		$heir = $this->heir( $request, $user );
		if ( is_wp_error( $heir ) ) {
			return $heir;
		}
		if ( ! current_user_can( 'delete_user', $user->ID ) ) {
			return new WP_Error(
				'personvern_forbidden',
				'WordPress does not let the user personvern signs in with delete this account; use an administrator\'s application password.',
				array( 'status' => 403 )
			);
		}

		global $wpdb;
		// The same query wp_delete_user() reassigns by: every post type, every status.
		$posts = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM $wpdb->posts WHERE post_author = %d", $user->ID ) );
		require_once ABSPATH . 'wp-admin/includes/user.php';
		if ( ! wp_delete_user( $user->ID, $heir->ID ) ) {
			return new WP_Error(
				'personvern_not_deleted',
				'WordPress did not delete the account (wp_delete_user() failed); try again, or delete it under Users.',
				array( 'status' => 500 )
			);
		}
		return $this->answer( true, true, $posts, $heir->user_login );
	}

	/**
	 * Why an account must stay, or null when it may go.
	 *
	 * @param WP_User $user The account of the address.
	 * @return string|null
	 */
	private function why_kept( $user ) {
		if ( is_multisite() ) {
			return 'On a multisite, WordPress would only take the account off this site; delete it under Network Admin → Users.';
		}
		if ( get_current_user_id() === $user->ID ) {
			return 'The account is the one personvern signs in with, so it is not deleted; give personvern another administrator\'s application password, then delete it under Users if the person should have no account.';
		}
		if ( in_array( 'administrator', (array) $user->roles, true ) || is_super_admin( $user->ID ) ) {
			return 'The account is an administrator\'s; personvern never deletes administrators. Take the role away or delete the account under Users if the person should have no account.';
		}
		return null;
	}

	/**
	 * The user who gets the account's posts and links: reassign, or the signed-in user.
	 *
	 * @param WP_REST_Request $request The call.
	 * @param WP_User         $user    The account being deleted.
	 * @return WP_User|WP_Error
	 */
	private function heir( $request, $user ) {
		$login = trim( (string) $request->get_param( 'reassign' ) );
		$heir  = '' === $login ? wp_get_current_user() : get_user_by( 'login', $login );
		if ( ! $heir || ! $heir->exists() ) {
			return new WP_Error(
				'personvern_unknown_user',
				sprintf( 'There is no user \'%s\' to give the erased account\'s posts to; set reassign_posts_to to an existing user name, or leave it out to give them to the user personvern signs in with.', $login ),
				array( 'status' => 400 )
			);
		}
		if ( $heir->ID === $user->ID ) {
			return new WP_Error(
				'personvern_unknown_user',
				'The user reassign_posts_to names is the account being erased; name another user.',
				array( 'status' => 400 )
			);
		}
		return $heir;
	}

	/**
	 * The route's answer.
	 *
	 * @param bool        $found         Whether the address has an account.
	 * @param bool        $deleted       Whether it was deleted now.
	 * @param int         $posts         How many posts went to the heir.
	 * @param string|null $reassigned_to The heir's user name.
	 * @param string|null $kept          Why the account stays, when it does.
	 * @return WP_REST_Response
	 */
	private function answer( $found, $deleted, $posts = 0, $reassigned_to = null, $kept = null ) {
		return rest_ensure_response(
			array(
				'found'            => $found,
				'deleted'          => $deleted,
				'posts_reassigned' => $posts,
				'reassigned_to'    => $reassigned_to,
				'kept'             => $kept,
			)
		);
	}
}
